# comment
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws" // c
      version = "~> 5.0"
    }
    random = "~> 3.1"
  }
  backend "s3" {
    bucket = "x-${var.y}"
  }
}
/* multi
line */
resource "null_resource" "x" {
  provisioner "local-exec" {
    command = <<-EOT
      echo "${var.a}" }
      EOT
  }
  triggers = { for k, v in var.m : k => v }
  count = var.x ? 1 : 0
  tags = merge(var.tags, {
    Name = "a"
  })
}
locals { a = [1, 2.5e3, true, null, "s\u00e9", [for x in y: x]] }
