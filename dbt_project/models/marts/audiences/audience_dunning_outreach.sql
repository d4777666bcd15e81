{{ next_best_action_audience('dunning_outreach') }}
