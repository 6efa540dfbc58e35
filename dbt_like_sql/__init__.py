"""The warehouse's SQL models (``*.sql`` beside this file).

A package only so that the models ship inside the wheel and are found through
``importlib.resources`` wherever the project is installed; there is no Python code here.
"""
