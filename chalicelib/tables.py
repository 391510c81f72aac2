"""Every table of the platform, gathered once from the capabilities that own them (the
local stack, tests and infra create tables from this list)."""
from __future__ import annotations

from pynamodb.models import Model

from chalicelib.store.models import (
    AgencyModel,
    ClaimModel,
    ClientModel,
    ContactModel,
    DebtorModel,
    ImportModel,
    InvoiceModel,
    OutboxModel,
    PaymentModel,
    RateCounterModel,
    TimelineModel,
    UserModel,
)


def _all_models() -> tuple[type[Model], ...]:
    # Each capability keeps its tables in its own module; they are listed here once.
    from chalicelib.behaviour.models import BehaviourModel, CreditAccountModel, CreditAlertModel
    from chalicelib.payments.models import PlanModel
    from chalicelib.reporting.models import ContributionModel, ReportModel
    from chalicelib.workbench.models import WORKBENCH_MODELS

    return (AgencyModel, UserModel, ClientModel, DebtorModel, ContactModel, InvoiceModel,
            TimelineModel, PaymentModel, ClaimModel, ImportModel, OutboxModel, PlanModel,
            RateCounterModel,
            ReportModel, ContributionModel, *WORKBENCH_MODELS, BehaviourModel,
            CreditAccountModel, CreditAlertModel)


ALL_MODELS: tuple[type[Model], ...] = _all_models()



def create_tables() -> None:
    """Create every table that does not exist yet (local stack and tests)."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
