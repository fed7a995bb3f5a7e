// SMSCore: the pure domain of SMSDesk.
//
// Value types and rules shared by every other module, with no I/O and no
// dependency beyond Foundation:
// - `SMSText` / `SMSEncoding`: GSM 03.38 and UCS-2 encoding choice, length,
//   segment count and splitting (`SMSAnalysis`).
// - `PhoneNumber`, `CountryCallingCode`, `NumberPattern`: E.164 normalisation,
//   country prefixes and default time zones, provider number expressions.
// - `Schedule`: weekly opening hours with dated exceptions in an IANA zone.
// - `DialString` / `PortRotation`: gateway port ranges and their rotation.
// - `SpoolState`: the outgoing message state machine.
// - `OptOutKeywords`: STOP/BAJA/START matching of inbound messages.
// Every failure is an `SMSCoreError` whose message says what is wrong and where.
