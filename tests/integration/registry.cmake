# The schema registry's settings, checked at start-up by every program (no broker).
inv_python_test(registry_conf test_registry_conf.py LABEL unit)
