# The bundled example: one S3 bucket, with the aws provider pinned in
# .terraform.lock.hcl (ci/demo writes the lock file from the demo mirror).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "us-east-1"
}

resource "aws_s3_bucket" "artifacts" {
  bucket = "tfgate-demo-artifacts"

  tags = {
    Purpose = "tfgate demo"
  }
}

output "bucket" {
  value = aws_s3_bucket.artifacts.bucket
}
