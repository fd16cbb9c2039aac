package plugin

// The generated code in pluginpb/ is committed; regenerate it after editing
// ../plugin.proto (needs protoc 3.21.12, Debian's protobuf-compiler; the Go
// generators are pinned as tool lines in go.mod).
//go:generate sh -c "protoc -I .. --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=pluginpb --go_opt=paths=source_relative --go-grpc_out=pluginpb --go-grpc_opt=paths=source_relative ../plugin.proto"
