"""The card profiles, one module each; PROFILES maps a profile key to its definition."""

from __future__ import annotations

from apps.reports.profiles import chai, eu_ai_act, hti1, payer
from apps.reports.profiles.base import Profile

PROFILES: dict[str, Profile] = {
    p.key: p for p in (chai.PROFILE, hti1.PROFILE, eu_ai_act.PROFILE, payer.PROFILE)
}
