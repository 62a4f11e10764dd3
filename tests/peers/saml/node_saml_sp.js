// A service provider on @node-saml/node-saml (an independent SAML stack), driven by
// tests/saml_idp/test_node_saml.py:
//   node node_saml_sp.js CONFIG.json metadata      -> the SP's metadata XML
//   node node_saml_sp.js CONFIG.json authorize R   -> the signed Redirect-binding URL (RelayState R)
//   node node_saml_sp.js CONFIG.json validate      -> reads a SAMLResponse on stdin, prints
//                                                     {"profile": …} or {"error": "…"} as JSON
"use strict";
const fs = require("fs");
const { SAML, ValidateInResponseTo } = require("@node-saml/node-saml");

const [configPath, command, relayState] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const privateKey = fs.readFileSync(config.keyFile, "utf8");
const publicCert = fs.readFileSync(config.certFile, "utf8");

const saml = new SAML({
  issuer: config.entityId,
  audience: config.entityId,
  callbackUrl: config.acsUrl,
  entryPoint: config.idpSsoUrl,
  idpIssuer: config.idpEntityId,
  idpCert: config.idpCert,
  privateKey,
  publicCert,
  decryptionPvk: privateKey,
  signatureAlgorithm: "sha256",
  digestAlgorithm: "sha256",
  identifierFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
  wantAssertionsSigned: true,
  wantAuthnResponseSigned: true,
  validateInResponseTo: ValidateInResponseTo.never,
  acceptedClockSkewMs: 0,
  disableRequestedAuthnContext: true,
});

async function main() {
  if (command === "metadata") {
    process.stdout.write(saml.generateServiceProviderMetadata(publicCert, publicCert));
  } else if (command === "authorize") {
    process.stdout.write(await saml.getAuthorizeUrlAsync(relayState || "", undefined, {}));
  } else if (command === "validate") {
    const samlResponse = fs.readFileSync(0, "utf8").trim();
    try {
      const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse });
      process.stdout.write(JSON.stringify({ profile }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: String(error && error.message) }));
    }
  } else {
    throw new Error(`unknown command ${command}`);
  }
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack) + "\n");
  process.exit(2);
});
