"""The duty catalogue: OIT items and the measures' activities, as data tied to an ITA edition."""
