"""Custom Rasa 3.6 graph components (run inside the Rasa environment, .venv-nlu, Python 3.10).

`careerbot nlu train|serve|test` put the project root on Rasa's Python path, so config.yml
names them as `nlu.components.<module>.<Class>`. Their source is part of the model
fingerprint: editing them retrains.
"""
