"""What a merge of two accounts (accounts.signals.accounts_merged, sent in the merge's
transaction by families.services.accounts_merge) does to the closed account's OpenID Connect
links: they end. Its authorisation codes, access, refresh and ID tokens are deleted, so no
service can act for a closed account; its pairwise `sub` (oidc_idp.claims.pairwise_sub, from
the account's id) is not moved: a service sees the family under the kept account's `sub` at
its next sign-in, and links it again as it links any new account."""

from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)


def closed_account_tokens_end(sender, *, kept, closed, request=None, **kwargs) -> None:
    for model in (get_refresh_token_model(), get_access_token_model(), get_id_token_model(),
                  get_grant_model()):
        model.objects.filter(user=closed).delete()
