"""Tracked links: the workspace's UTM conventions applied to the links of a variant when it is
published, Rupor's own short links (the public redirect ``/l/<code>``) and their clicks, split
human vs bot and counted unique per day by a salted hash (no address is stored)."""
