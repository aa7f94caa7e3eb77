"""Infrastructure shared by every domain: clock, encryption, outbound HTTP, config."""
