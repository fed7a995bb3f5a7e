// SMSConversations: inbound routing (SPEC C1-C10, D8): dedupe, campaign by
// DID, opt-out keywords, out-of-time replies, one open thread per number and
// campaign, the campaign queue and assignment by strategy. It depends on
// SMSCore and SMSStore, never on the HTTP layer.
