// End-to-end tests start real processes and wait on Kafka consumer groups: minutes, not the default 5 s.
jest.setTimeout(120000);
