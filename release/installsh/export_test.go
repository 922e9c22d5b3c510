package installsh

// VercmpAWK is the script's version comparison, for the tests.
const VercmpAWK = vercmpAWK
