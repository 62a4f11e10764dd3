// SAML HTTP-POST binding: send the form to the service at once (the button stays for
// browsers without JavaScript).
document.getElementById("saml-post").submit();
