"""The SMS activation keeps no table of its own: its flows are rows of core.models.Flow (kind
« sms_activation », see activation/flows.py) and its codes rows of core.models.FlowCode.
activation/migrations/0002 moved the former ActivationFlow rows there."""
