"""ActivityPub federation: actors, signatures, discovery, fetches, inboxes.

Every module speaks the same small vocabulary:

* look-ups, ``lookup_*``: find a local thing, or a cached remote one, by its
  address; NotFound when there is none;
* remote fetches, ``fetch`` and ``fetch_*``: read another instance's document,
  never from a private address;
* render-to-ActivityPub, ``render_*``: a local thing as the JSON document
  another instance reads;
* parse-from-ActivityPub, ``parse_*``: a remote document into our own types,
  or RemoteInvalid;
* one handler per inbound activity type, ``handle_<type>``, in
  :mod:`.handlers`; :mod:`.inbox` checks what arrives and runs them once.

``federation/`` at the top of the repository describes the protocol for other
implementers; its examples are checked against :mod:`.render` by the tests.
"""
