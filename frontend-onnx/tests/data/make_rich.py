# Generates rich.onnx: a model that sets (nearly) every field int8xc's prost messages model, written by the
# reference onnx package, to pin the field numbers. Run with the fixtures' venv: python make_rich.py
import onnx, numpy as np
from onnx import helper, TensorProto, numpy_helper
t_raw = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2,3), "w")
t_f = helper.make_tensor("tf", TensorProto.FLOAT, [2], [1.5, 2.5])
t_i32 = helper.make_tensor("ti", TensorProto.INT8, [3], [1, -2, 3])
t_i64 = helper.make_tensor("tl", TensorProto.INT64, [2], [7, -9])
t_d = helper.make_tensor("td", TensorProto.DOUBLE, [1], [3.25])
t_u64 = helper.make_tensor("tu", TensorProto.UINT64, [1], [12345678901])
t_s = helper.make_tensor("ts", TensorProto.STRING, [1], [b"hi"])
t_ext = TensorProto(name="te", dims=[4], data_type=TensorProto.FLOAT, data_location=TensorProto.EXTERNAL)
t_ext.external_data.add(key="location", value="w.bin")
t_ext.segment.begin = 1; t_ext.segment.end = 3
t_ext.doc_string = "doc"; t_ext.metadata_props.add(key="k", value="v")
sub = helper.make_graph([helper.make_node("Relu", ["a"], ["b"])], "sub", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])])
n = helper.make_node("Foo", ["x", "", "w"], ["y", "z"], name="n0", domain="dom", doc_string="nd",
    f=1.5, i=-3, s="str", t=t_f, g=sub, floats=[1.0, 2.0], ints=[1, -2], strings=[b"a", b"b"], tensors=[t_i32], graphs=[sub])
n.overload = "ov"; n.metadata_props.add(key="a", value="b")
n.attribute[0].doc_string = "adoc"; n.attribute[0].ref_attr_name = "ref"
tp_attr = onnx.AttributeProto(name="tp", type=onnx.AttributeProto.TYPE_PROTO)
tp_attr.tp.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, [2, "N"]))
n.attribute.append(tp_attr)
sp = helper.make_sparse_tensor(helper.make_tensor("v", TensorProto.FLOAT, [2], [1., 2.]), helper.make_tensor("i", TensorProto.INT64, [2], [0, 3]), [4])
sa = onnx.AttributeProto(name="sp", type=onnx.AttributeProto.SPARSE_TENSOR); sa.sparse_tensor.CopyFrom(sp); n.attribute.append(sa)
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, None])
x.doc_string = "xdoc"; x.type.denotation = "TENSOR"; x.type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
x.metadata_props.add(key="m", value="n")
g = helper.make_graph([n], "g", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    initializer=[t_raw, t_f, t_i32, t_i64, t_d, t_u64, t_s, t_ext], value_info=[helper.make_tensor_value_info("z", TensorProto.INT64, [1])], doc_string="gdoc",
    sparse_initializer=[sp])
g.metadata_props.add(key="gk", value="gv")
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("dom", 2)], producer_name="p", producer_version="1", doc_string="md", domain="d", model_version=5)
m.metadata_props.add(key="mk", value="mv")
open("rich.onnx", "wb").write(m.SerializeToString())
