"""The caller the gateway verified, as it tells the services behind it: headers a client can never set,
since the gateway strips every header of this family from incoming requests. Services still verify the
token themselves; these serve their logs and anything that only needs to know who was let in.
"""

IDENTITY_HEADER_PREFIX = "x-verified-"
USER_ID_HEADER = "x-verified-user-id"
ROLE_HEADER = "x-verified-role"
