"""What losses, metrics, the data pipeline and evaluation share: target preparation
(`targets`), label checks with one message style (`labels`), reductions across replicas
(`replicas`) and the class-weight rule (`class_weights`). Internal: users import none of it."""
