"""What the accounts domain tells the apps built on it, without importing them (they import
accounts, never the other way round: docs/architecture.md).

`accounts_merged` is sent *inside* the transaction of a merge (« Ajouter des enfants depuis
un autre compte », families.services.accounts_merge), after the other account's guardian
records have moved to the kept one and the other account was closed: a receiver's writes
commit or roll back with the merge. Arguments: `kept` and `closed` (Account instances,
locked), `request` (or None).

Who listens, and what becomes of the closed account's links (documented in
docs/architecture.md, « Merging two accounts »):
- oidc_idp (OidcIdpConfig.ready): the closed account's OAuth grants, access and refresh
  tokens end. Its pairwise `sub` is derived from its id and is not moved: a service sees the
  family under the kept account's `sub` at its next sign-in.
- saml_idp keeps nothing per account (the persistent NameID is derived from the account's
  id): nothing to end; the same as OIDC, the kept account's NameID is used from then on.
- franceconnect (FranceConnectConfig.ready, franceconnect/merge.py): the closed account's
  link to a FranceConnect identity *moves* to the kept account when the kept one has none
  (the same person proved by the same names), else ends.
"""

from django.dispatch import Signal

accounts_merged = Signal()
