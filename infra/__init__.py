"""Everything that runs at synth time: the CDK app, its stacks and constructs (imports aws_cdk; never functions/)."""

import os

# jsii prints a banner on every import under Node 20; the CDK CLI's telemetry and version check need the network.
for _name, _value in (("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"), ("CDK_DISABLE_CLI_TELEMETRY", "true"),
                      ("CDK_DISABLE_VERSION_CHECK", "1"), ("AWS_EC2_METADATA_DISABLED", "true")):
    os.environ.setdefault(_name, _value)
