# Integration tests of the clients (clients/): libraftlog through a small C
# driver, the raftlog command line, and the Python client, all against real
# 3-node clusters. Included from tests/integration/CMakeLists.txt, where
# RL_PYTHON is set and raftlog-node exists. One ctest entry per test
# function of test_clients.py, named clients_<function>, label integration.
if(NOT TARGET raftlog OR NOT TARGET raftlog_static)
  return()
endif()
add_executable(client_driver ${CMAKE_CURRENT_LIST_DIR}/client_driver.c)
target_link_libraries(client_driver PRIVATE raftlog_static)

execute_process(COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_clients.py
                        --list
                OUTPUT_VARIABLE rl_client_tests
                OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rl_client_listed)
if(NOT rl_client_listed EQUAL 0)
  message(FATAL_ERROR "cannot list the client integration tests")
endif()
string(REPLACE "\n" ";" rl_client_tests "${rl_client_tests}")
foreach(name ${rl_client_tests})
  add_test(NAME clients_${name}
           COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_clients.py
                   --node $<TARGET_FILE:raftlog-node>
                   --cli $<TARGET_FILE:raftlog>
                   --driver $<TARGET_FILE:client_driver>
                   --python-dir ${PROJECT_SOURCE_DIR}/clients/python
                   ${name})
  set_tests_properties(clients_${name} PROPERTIES LABELS integration
                       TIMEOUT 120)
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_clients.py)
