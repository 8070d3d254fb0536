"""A model's whole life: the artifact and its checks (`artifact`), training, the algorithm and the Ray
tasks (`training`), the registry in the warehouse (`registry`), and which model predicts each date
(`policy`, whose `models_for_dates` is what a backfill calls).
"""
