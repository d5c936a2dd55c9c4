from tests.lifecycle.kit import disable_nagle_in_live_server

disable_nagle_in_live_server()
