"""The demo enterprise 星河科技有限公司: `offboard demo` builds it, the tests and the README use it."""

from offboard.demo.company import DEMO_SLUG, build_demo, demo_logins, demo_summary
from offboard.demo.personas import DEFAULT_SEED, PERSONAS

__all__ = ["DEFAULT_SEED", "DEMO_SLUG", "PERSONAS", "build_demo", "demo_logins", "demo_summary"]
