"""The outbound-URL policy: what we may fetch or call when someone else gave us the URL
(provider outputs, URL inputs, webhooks). See ``outbound.policy``."""
