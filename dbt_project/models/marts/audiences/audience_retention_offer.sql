{{ next_best_action_audience('retention_offer') }}
