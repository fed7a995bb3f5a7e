// SMSSimulator: the standalone fake SMS provider behind `smsdesk simulate`.
