#!/usr/bin/env python3
"""Realistic Terraform log text for the redaction benchmark.

Writes SIZE bytes to stdout: `terraform plan -json` lines (the machine
format tfgate runs) interleaved with human plan output, diagnostics and
provider debug noise.  One block of about 4 MiB is generated with a fixed
seed and repeated, so the output is reproducible and fast to produce.
Secrets listed in SECRETS (one per line) appear now and then, raw and in
base64, as a job that leaks would print them.

usage: gen_log.py SIZE_BYTES [SECRETS_FILE]
"""
import base64
import json
import random
import sys

BLOCK = 4 << 20


def block(secrets):
    rnd = random.Random(1234)
    types = ["aws_instance", "aws_s3_bucket", "aws_iam_role", "aws_security_group",
             "aws_lambda_function", "google_storage_bucket", "azurerm_resource_group",
             "kubernetes_deployment", "random_id", "null_resource"]
    words = ["web", "api", "db", "cache", "logs", "assets", "worker", "edge", "main", "blue"]
    out = []
    size = 0
    n = 0
    while size < BLOCK:
        n += 1
        t = rnd.choice(types)
        name = rnd.choice(words) + "_" + str(rnd.randrange(100))
        addr = f"{t}.{name}"
        k = rnd.randrange(10)
        if k < 5:
            line = json.dumps({
                "@level": "info",
                "@message": f"{addr}: Plan to create",
                "@module": "terraform.ui",
                "@timestamp": f"2024-05-{rnd.randrange(1, 28):02d}T10:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}.{rnd.randrange(10**6):06d}Z",
                "change": {"resource": {"addr": addr, "module": "", "resource": f"{t}.{name}",
                                        "implied_provider": t.split("_")[0], "resource_type": t,
                                        "resource_name": name, "resource_key": None},
                           "action": rnd.choice(["create", "update", "delete", "replace"])},
                "type": "planned_change"}, separators=(",", ":"))
        elif k < 8:
            attr = rnd.choice(["ami", "instance_type", "bucket", "tags", "arn", "id", "name",
                               "subnet_id", "vpc_security_group_ids", "role"])
            val = rnd.choice(['"ami-0c55b159cbfafe1f0"', '"t3.micro"', "(known after apply)",
                              '"arn:aws:iam::123456789012:role/deploy"', '{\n          + "Name" = "web"\n        }',
                              '"subnet-0bb1c79de3EXAMPLE"', "true", str(rnd.randrange(65536))])
            line = f"      + {attr:<22} = {val}"
            if rnd.randrange(8) == 0:
                line = f"  # {addr} will be created\n  + resource \"{t}\" \"{name}\" {{"
        elif k < 9:
            line = (f"2024-05-01T10:00:00.000Z [DEBUG] provider.terraform-provider-aws_v5.31.0_x5: "
                    f"HTTP Request Sent: aws.operation=DescribeInstances aws.region=eu-west-1 "
                    f"http.request_content_length={rnd.randrange(4096)} tf_resource_type={t} "
                    f"tf_rpc=ReadResource @caller=github.com/hashicorp/aws-sdk-go-base/v2/logging/tf_logger.go:45")
        else:
            line = (f"\u2502 Warning: Argument is deprecated\n\u2502 \n\u2502   with {addr},\n"
                    f"\u2502   on main.tf line {rnd.randrange(400)}, in resource \"{t}\" \"{name}\":")
        if secrets and n % 997 == 0:
            s = rnd.choice(secrets)
            line += " token=" + (s if n % 2 else base64.b64encode(s.encode()).decode())
        out.append(line)
        size += len(line.encode()) + 1
    return ("\n".join(out) + "\n").encode()


def main():
    total = int(sys.argv[1])
    secrets = []
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            secrets = [line.rstrip("\n") for line in f if line.strip()]
    b = block(secrets[:50])
    w = sys.stdout.buffer
    while total > 0:
        chunk = b[:total]
        w.write(chunk)
        total -= len(chunk)


if __name__ == "__main__":
    main()
