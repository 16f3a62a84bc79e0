# The schema registry's settings, checked at start-up by every program (no broker).
inv_python_test(registry_conf test_registry_conf.py LABEL unit)

# The schema registry fixture: Apicurio (deploy/local/registry.sh) keeps its
# schemas in the local broker, so it needs the broker fixture. Like the
# broker it stays running after the tests.
add_test(NAME registry_start COMMAND ${CMAKE_SOURCE_DIR}/deploy/local/registry.sh start)
set_tests_properties(registry_start PROPERTIES FIXTURES_SETUP registry FIXTURES_REQUIRED broker
  LABELS integration TIMEOUT 600)
# inv_registry from the command line, for test_registry.py (not a test itself).
add_executable(registry_tool ${CMAKE_SOURCE_DIR}/tests/support/registry_tool.c)
target_link_libraries(registry_tool PRIVATE inv_registry inv_base)
# inv_registry against the real registry; stops and restarts it (a restart
# keeps the schemas).
inv_python_test(registry test_registry.py TIMEOUT 300)
set_tests_properties(registry PROPERTIES FIXTURES_REQUIRED "broker;registry" RESOURCE_LOCK registry)
# inv-sale and inv-stock with the registry, against Confluent's AvroSerializer
# and AvroDeserializer; stops and restarts the registry.
inv_python_test(registry_avro test_registry_avro.py TIMEOUT 600)
set_tests_properties(registry_avro PROPERTIES FIXTURES_REQUIRED "broker;registry" RESOURCE_LOCK registry)
set_property(TEST registry APPEND PROPERTY ENVIRONMENT "INV_REGISTRY_TOOL=$<TARGET_FILE:registry_tool>")
# invctl schemas check|register against the real registry, under subjects of
# its own at BACKWARD: the earlier versions (schemas/v1/, v2/, ...) registered
# first, then today's schemas must be compatible with them, so a schema change
# that breaks BACKWARD compatibility fails here.
inv_python_test(registry_schemas test_registry_schemas.py TIMEOUT 300)
set_tests_properties(registry_schemas PROPERTIES FIXTURES_REQUIRED "broker;registry" RESOURCE_LOCK registry)
