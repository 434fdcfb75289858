a = <<-EOT
  ${x("}")}
  EOT
