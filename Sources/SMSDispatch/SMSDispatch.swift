// SMSDispatch: the dialer engine (SPEC D1-D12). It claims `to_process` spool
// rows of enabled, in-schedule dialers with a lease, checks DNCR and opt-outs,
// paces sends per dialer interval and provider rate limit, and records every
// state change in `spool_events`. It depends on SMSCore, SMSStore and
// SMSProviders, never on the HTTP layer.
