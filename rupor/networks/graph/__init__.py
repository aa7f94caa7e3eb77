"""The Graph API core Facebook Pages and Instagram share: the pinned version and error table
(:mod:`.wire`), calls with usage-based pausing (:mod:`.client`), Meta's object definitions for the
emulators (:mod:`.specs`), the emulators' common parts (:mod:`.emulation`) and test helpers
(:mod:`.testing`)."""
