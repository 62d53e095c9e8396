// Option radios: show the selected option's image, and reload the item page with the option chosen.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[type=radio]").forEach(function (radio) {
    if (radio.checked && radio.dataset.image) {
      document.getElementById("product-image").src = radio.dataset.image;
    }
    radio.addEventListener("click", function () {
      window.location.href = radio.dataset.url;
    });
  });
});
