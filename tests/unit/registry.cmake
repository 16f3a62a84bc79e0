# inv_registry without a registry: settings checks, the bounded cache, and the
# client against a fake registry in the test process and a closed port.
inv_unit_test(test_registry test_registry.c)
target_link_libraries(test_registry PRIVATE inv_registry PkgConfig::MHD)
