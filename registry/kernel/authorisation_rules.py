"""The authorisation table as data: one :class:`Rule` per action, naming who may do it by role,
by scope and by relation to the record (applied by registry.kernel.authorisation.authorise)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from registry.base.identity import FSP, SCHEME_OPERATOR
from registry.base.vocab import FDI

ASSETS_WRITE = FDI["scope-assets-write"].value
ASSETS_READ = FDI["scope-assets-read"].value
COMMERCIAL_WRITE = FDI["scope-commercial-write"].value
AGREEMENTS_WRITE = FDI["scope-agreements-write"].value
MESSAGES_SEND = FDI["scope-messages-send"].value

MARKET = frozenset(
    {
        FDI.MarketOperator.value,
        FDI.DistributionSystemOperator.value,
        FDI.TransmissionSystemOperator.value,
    }
)
ADMINISTRATOR = FDI.Administrator.value
ATTESTERS = frozenset({FDI.Manufacturer.value, FDI.Installer.value, FDI.AssetOwner.value})
READ_ASSETS = frozenset({ASSETS_READ, ASSETS_WRITE})  # writing an asset implies reading it

# Who: the principal kinds of the table.
ANYONE = "anyone"  # anonymous included
MEMBER = "member"  # any verified organisation's certificate


@dataclass(frozen=True)
class Rule:
    """Who may do one action.

    ``who``: ANYONE, MEMBER, or role IRIs (any one of them). ``scopes``: the certificate
    carries at least one of them (the scheme operator, whose certificate carries none, is held
    to its role alone). ``relations``: the principal stands in at least one of them to the
    record (``registry.trust.control``); empty when the action is not about one record.
    """

    action: str
    who: frozenset[str]
    scopes: frozenset[str] = frozenset()
    relations: frozenset[str] = frozenset()
    description: str = ""

    @property
    def anonymous(self) -> bool:
        return ANYONE in self.who


def _rule(
    action: str,
    who: str | Iterable[str],
    scopes: Iterable[str] = (),
    relations: Iterable[str] = (),
    description: str = "",
) -> Rule:
    roles = {who} if isinstance(who, str) else set(who)
    return Rule(action, frozenset(roles), frozenset(scopes), frozenset(relations), description)


_OP = {SCHEME_OPERATOR}
RULES: dict[str, Rule] = {
    r.action: r
    for r in (
        _rule("public.read", ANYONE, description="directory, licences, ontology, shapes"),
        _rule(
            "record.read",
            ANYONE,
            description="a record (GET /id/..., its versions, SPARQL): what the requester's "
            "graphs hold (public; members: their own and what is shared with them), else 404",
        ),
        _rule(
            "asset.read-private",
            MEMBER,
            READ_ASSETS,
            {"owner", "shared", "operator"},
            "an asset or right in an organisation's own or shared graph: scope assets-read "
            "(or assets-write); its current operator reads it even after a switch",
        ),
        _rule(
            "feed.shared",
            MEMBER,
            READ_ASSETS,
            {"owner"},
            "the change feed of the records shared with an organisation (GET /feed/shared/...): "
            "that organisation alone, scope assets-read (or assets-write)",
        ),
        _rule("asset.register", {FSP}, {ASSETS_WRITE}, description="register assets"),
        _rule(
            "asset.update",
            {FSP} | _OP,
            {ASSETS_WRITE},
            {"operator", "scheme-operator"},
            "an asset is updated by its current operator (its registrant while no right is "
            "current)",
        ),
        _rule(
            "right.update",
            {FSP} | _OP,
            {ASSETS_WRITE},
            {"owner", "scheme-operator"},
            "a right to operate is updated by the FSP that filed (holds) it",
        ),
        _rule(
            "right.register",
            {FSP},
            {ASSETS_WRITE},
            {"operator"},
            "a right to operate, or a switch, filed by the asset's current operator for itself",
        ),
        _rule(
            "right.claim",
            {FSP},
            {ASSETS_WRITE},
            description="any other FSP's right or switch: a claim that waits for the current "
            "operator's or the asset owner's confirmation",
        ),
        _rule(
            "claim.decide",
            {FSP, FDI.AssetOwner.value},
            {ASSETS_WRITE, ASSETS_READ},
            {"operator", "asset-owner"},
            "confirm or contest a claim: the asset's current operator or its owner",
        ),
        _rule(
            "claim.read",
            MEMBER,
            relations={"owner", "operator", "asset-owner", "scheme-operator"},
            description="a claim or dispute: the claimant (its owner), the asset's current "
            "operator and owner, and the scheme operator",
        ),
        _rule(
            "record.update",
            MEMBER,
            relations={"owner", "scheme-operator"},
            description="other records (organisation entry, commercial information, ...): "
            "their owner; verified facts never change this way",
        ),
        _rule(
            "attestation.make",
            ATTESTERS | MARKET,
            description="asset owners, installers and manufacturers attest facts; market "
            "operators attest that an asset is registered in their market (fdi:registeredIn)",
        ),
        _rule(
            "submission.register",
            {FSP} | _OP,
            {ASSETS_WRITE},
            description="POST /submissions: an FSP's assets and rights, or the scheme "
            "operator's public records",
        ),
        _rule(
            "reads.list",
            MEMBER,
            description="lists of the requester's own: reads of its data, its audit trail, "
            "jobs, agreements, commercial information, disputes, what is shared with it",
        ),
        _rule(
            "organisation.apply",
            ANYONE,
            description="apply to join, with KYC evidence (no certificate yet)",
        ),
        _rule(
            "scheme.administer",
            _OP,
            description="verify, reject, suspend, reinstate, revoke organisations; grant, "
            "refuse, suspend, reinstate, revoke memberships; publish licences; reminders",
        ),
        _rule(
            "personal-data.erase",
            _OP,
            description="erase a data subject's personal data (UK GDPR art. 17) and read the "
            "register of erasures: the scheme operator's decision only",
        ),
        _rule(
            "membership.request",
            {ADMINISTRATOR},
            description="an organisation's administrator asks to join a scheme",
        ),
        _rule(
            "membership.accept",
            {ADMINISTRATOR},
            relations={"owner"},
            description="an organisation's administrator accepts the scheme's agreement",
        ),
        _rule(
            "organisation.administer",
            {ADMINISTRATOR} | _OP,
            relations={"owner", "scheme-operator"},
            description="users and certificates of an organisation: its administrators, or "
            "the scheme operator",
        ),
        _rule(
            "catalogue.publish",
            MEMBER,
            description="a member publishes its own catalogue",
        ),
        _rule(
            "catalogue.update",
            MEMBER,
            relations={"owner", "scheme-operator"},
            description="the catalogue's publisher replaces it",
        ),
        _rule(
            "commercial.write",
            {FSP},
            {COMMERCIAL_WRITE},
            description="an FSP submits or replaces its commercial information",
        ),
        _rule(
            "agreement.make",
            {FSP},
            {AGREEMENTS_WRITE},
            description="an FSP makes a data-sharing agreement over its own records",
        ),
        _rule(
            "agreement.withdraw",
            MEMBER,
            {AGREEMENTS_WRITE},
            {"owner"},
            description="the organisation that made an agreement withdraws it",
        ),
        _rule(
            "inbox.read",
            MEMBER,
            relations={"owner"},
            description="an organisation reads and acknowledges its own inbox",
        ),
        _rule(
            "webhook.manage",
            MEMBER,
            relations={"owner"},
            description="an organisation registers, lists and stops its own webhooks and sees "
            "their deliveries (a webhook receives what its inbox receives)",
        ),
        _rule(
            "member.pages",
            MEMBER,
            description="a member's own pages (/me): its assets and rights, who read its data, "
            "its notifications and agreements, validating a file (which stores nothing)",
        ),
        _rule(
            "oauth.protocol",
            ANYONE,
            description="the authorisation server's metadata and protocol endpoints (PAR, "
            "token, introspection, JWKS): clients authenticate inside the protocol, by their "
            "certificate (tls_client_auth) or private_key_jwt",
        ),
        _rule(
            "oauth.approve",
            {ADMINISTRATOR},
            description="an organisation's administrator sees and approves (or refuses) a "
            "pushed authorisation request of its own organisation's client",
        ),
        _rule(
            "case.raise",
            MEMBER,
            description="a member (an asset owner among them) raises a complaint or dispute, "
            "and lists the cases it is a party to",
        ),
        _rule(
            "case.handle",
            MEMBER,
            description="a case's steps (acknowledge, answer, escalate, resolve): its parties "
            "and the scheme operator only; anyone else gets 404 (registry.markets.redress)",
        ),
        _rule(
            "proposal.submit",
            {FDI.StandardsBody.value, *MARKET},
            description="propose a new rules version: a standards body the ontology and "
            "shapes, a market's operator (fdi:operatedBy) its own market's requirements only "
            "(registry.rules.proposals checks which documents and terms are whose)",
        ),
        _rule(
            "proposal.comment",
            MEMBER,
            description="comment on a proposal in consultation, through its inbox",
        ),
        _rule(
            "proposal.adopt",
            _OP,
            description="adopt a proposal with the date it comes into force",
        ),
        _rule(
            "monitoring.run",
            _OP,
            description="start a round of endpoint checks at once (they also run on the "
            "operator's schedule)",
        ),
        _rule(
            "message.send",
            MEMBER,
            {MESSAGES_SEND},
            {"may-message"},
            description="post an activity to an organisation's inbox, if the sender's roles "
            "may message the recipient's (fdi:mayMessage in the ontology)",
        ),
    )
}
