{{ next_best_action_audience('upsell_prompt') }}
