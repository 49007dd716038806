module imagebom.invalid/oracle/gotmpl

go 1.19
