"""Stage 2b: data. Datasets are plugins registered by name (``@register_dataset``)."""

from lthbench.data import embedded, vision  # noqa: F401 - registers the datasets
from lthbench.data.base import DATASETS, DataInfo, Splits, TensorSplit, default_data_root

__all__ = ["DATASETS", "DataInfo", "Splits", "TensorSplit", "default_data_root"]
