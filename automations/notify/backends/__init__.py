"""console, file, locmem (tests) and http (an SMS gateway) — as with Django's email backends."""
