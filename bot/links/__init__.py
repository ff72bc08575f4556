"""Evidence links: fetching a recorded URL politely and safely (:mod:`bot.links.fetch`),
recognising the common dead ends (:mod:`bot.links.deadends`), and the record kept of
each check (:mod:`bot.services.links`)."""
