"""Stage 2a: models. Every model is built by ``timm.create_model``; the papers' nets are
registered into timm's registry on import (see :mod:`lthbench.models.paper_nets`)."""

from lthbench.models.factory import check_model, check_model_name, create_model

__all__ = ["check_model", "check_model_name", "create_model"]
