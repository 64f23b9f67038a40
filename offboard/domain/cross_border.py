"""Cross-border exports (R-LAW-4, R-EXC-3): personal data leaves its data region only with a
recorded legal basis, one of the mechanisms of PIPL Art. 38-39 (a security assessment by the
regulator, a personal-information protection certification, the standard contract, or the
person's separate consent); otherwise the export is refused. Pure."""

from __future__ import annotations

from enum import StrEnum

from offboard.domain import validation as v
from offboard.domain.errors import Forbidden, Term, ValidationError, error


class LegalBasis(StrEnum):
    SECURITY_ASSESSMENT = "security_assessment"
    CERTIFICATION = "certification"
    STANDARD_CONTRACT = "standard_contract"
    SEPARATE_CONSENT = "separate_consent"


def check_transfer(data_region: str, destination: str | None, basis: str | None, reference: str | None = None) -> dict[str, str] | None:
    """None when the export stays in the data's region; else the recorded basis
    {"from", "to", "basis", "reference"}, or a refusal that says what is missing."""
    to = v.region(destination) if destination else data_region
    if to == data_region:
        return None
    if not basis:
        raise error(
            Forbidden,
            "cross_border_basis_required",
            "This data is kept in {region}; an export to {destination} needs a recorded legal basis: a security assessment, a certification, the standard contract or the person's separate consent.",
            region=Term("region", data_region),
            destination=Term("region", to),
        )
    try:
        chosen = LegalBasis(basis.strip().lower())
    except ValueError:
        raise error(ValidationError, "unknown_legal_basis", "There is no legal basis {value}; the bases are: {choices}.", value=basis[:40], choices=", ".join(LegalBasis)) from None
    if not (reference or "").strip():
        raise error(ValidationError, "legal_basis_reference_required", "Name the record of the legal basis (a filing number, a contract reference, or where the consent is kept).")
    return {"from": data_region, "to": to, "basis": chosen.value, "reference": v.text(reference, "reference", max_length=200)}
