"""Errors the use cases raise (leaves of the one PayezError tree)."""

from __future__ import annotations

from payez.domain.errors import Forbidden, InvalidInput, NotFound, PayezError


class AccountAlreadyLinked(InvalidInput):
    code = "account_already_linked"
    message_fr = "Ce compte de réseau social est déjà relié à un autre utilisateur Payez."
    message_en = "This social account is already linked to another Payez user."


class UserUnknown(NotFound):
    code = "user_unknown"
    message_fr = "Utilisateur inconnu."
    message_en = "Unknown user."


class ClaimUnknown(NotFound):
    code = "claim_unknown"
    message_fr = "Ce lien de réclamation n'existe pas."
    message_en = "This claim link does not exist."


class ClaimClosed(PayezError):
    code = "claim_closed"
    message_fr = "Cet argent n'est plus à réclamer (déjà réclamé, remboursé ou annulé)."
    message_en = "This money can no longer be claimed (already claimed, refunded or cancelled)."


class ClaimWrongAccount(Forbidden):
    code = "claim_wrong_account"
    message_fr = (
        "Ce paiement a été envoyé à un autre compte que celui avec lequel vous êtes connecté."
    )
    message_en = "This payment was sent to a different account from the one you signed in with."


class ConfirmationUnknown(NotFound):
    code = "confirmation_unknown"
    message_fr = "Cette demande de confirmation n'existe pas."
    message_en = "This confirmation request does not exist."


class ConfirmationNotYours(Forbidden):
    code = "confirmation_not_yours"
    message_fr = "Cette demande de confirmation concerne un autre utilisateur."
    message_en = "This confirmation request belongs to another user."


class ConfirmationClosed(PayezError):
    code = "confirmation_closed"
    message_fr = "Ce paiement n'attend plus de confirmation."
    message_en = "This payment is no longer awaiting confirmation."


class ListingInvalid(InvalidInput):
    code = "listing_invalid"
    message_fr = "Annonce invalide : un titre, un prix positif et un stock d'au moins 0."
    message_en = "Invalid listing: a title, a positive price and a stock of at least 0."


class UserKindInvalid(InvalidInput):
    code = "user_kind_invalid"
    message_fr = "Type de compte inconnu : personne, association ou commerçant."
    message_en = "Unknown account type: person, association or merchant."
