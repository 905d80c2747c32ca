// 09_sgd.json: torch.optim.SGD (momentum 0.9, dampening 0, no Nesterov, L2 weight
// decay) over given gradients; the α fusion cases must match PyTorch's float32
// trajectory bit for bit.

import CILSDK
import Testing

@Suite("TestVector 09 sgd")
struct TestVectorSGDTests {
    static let file = "09_sgd.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, ["two_groups_three_steps", "alpha_fusion_lr_1e-8", "alpha_fusion_lr_1e-5"])
    }

    /// The case's parameter groups as (names, group) pairs, with fresh parameters.
    private func makeOptimizer(_ c: VectorCase) throws -> (SGD, [String: Tensor]) {
        let initial = try c.raw("inputs", "initial_params")
        var params: [String: Tensor] = [:]
        var groups: [ParameterGroup] = []
        for (gi, g) in try #require(try c.raw("params", "groups").arrayValue).enumerated() {
            let names = try #require(g["params"]?.arrayValue).compactMap(\.stringValue)
            let tensors = try names.map { name -> Tensor in
                let json = try #require(initial[name], "\(c.label("initial_params")): no \(name)")
                let t = try VectorTensor(json, what: c.label("initial \(name)")).tensor(requiresGrad: true)
                t.name = name
                params[name] = t
                return t
            }
            #expect(g["dampening"]?.floatValue == 0 && g["nesterov"]?.boolValue == false)
            groups.append(ParameterGroup(name: "group\(gi)", parameters: tensors,
                                         learningRate: try #require(g["lr"]?.floatValue),
                                         weightDecay: try #require(g["weight_decay"]?.floatValue),
                                         momentum: try #require(g["momentum"]?.floatValue)))
        }
        return (SGD(groups: groups), params)
    }

    /// Runs every step with the given gradients (nil = None) and returns, per step and
    /// parameter, (param values, momentum buffer values or nil).
    private func run(_ c: VectorCase) throws -> [[String: ([Float], [Float]?)]] {
        let (sgd, params) = try makeOptimizer(c)
        var trajectory: [[String: ([Float], [Float]?)]] = []
        for (step, grads) in try #require(try c.raw("inputs", "grads_per_step").arrayValue).enumerated() {
            sgd.clearGrad()  // set_to_none: a None gradient means "skip this parameter"
            for (name, p) in params {
                let g = try #require(grads[name], "\(c.label("grads_per_step[\(step)]")): no \(name)")
                p.grad = g.isNull ? nil : try VectorTensor(g, what: c.label("grad \(name) step \(step)")).tensor()
            }
            sgd.step()
            var state: [String: ([Float], [Float]?)] = [:]
            for (name, p) in params { state[name] = (p.scalars, sgd.momentumBuffer(of: p)?.scalars) }
            trajectory.append(state)
        }
        return trajectory
    }

    /// Compares a trajectory with `outputs.<key>` (exact = bit-equal).
    private func check(_ c: VectorCase, _ trajectory: [[String: ([Float], [Float]?)]], key: String, exact: Bool) throws {
        let expected = try #require(try c.raw("outputs", key).arrayValue)
        #expect(expected.count == trajectory.count, "\(c.label(key)): number of steps")
        for (step, (want, got)) in zip(expected, trajectory).enumerated() {
            let names = try #require(want.objectValue).keys.sorted()
            #expect(names == got.keys.sorted(), "\(c.label(key)) step \(step): parameter names")
            for name in names {
                let label = c.label("\(key)[\(step)].\(name)")
                let (param, buffer) = try #require(got[name])
                let wantParam = try VectorTensor(try #require(want[name]?["param"]), what: label)
                let wantBufferJSON = try #require(want[name]?["momentum_buffer"])
                if exact {
                    expectVectorBitEqual(param, wantParam.values, label + ".param")
                } else {
                    expectVectorClose(param, wantParam.values, shape: wantParam.shape, c.tolerance, label + ".param")
                }
                if wantBufferJSON.isNull {
                    #expect(buffer == nil, "\(label): PyTorch has no momentum buffer here")
                } else {
                    let wantBuffer = try VectorTensor(wantBufferJSON, what: label)
                    guard let buffer else {
                        Issue.record("\(label): no momentum buffer, expected \(wantBuffer.values)")
                        continue
                    }
                    if exact {
                        expectVectorBitEqual(buffer, wantBuffer.values, label + ".momentum_buffer")
                    } else {
                        expectVectorClose(buffer, wantBuffer.values, shape: wantBuffer.shape, c.tolerance,
                                          label + ".momentum_buffer")
                    }
                }
            }
        }
    }

    @Test("two_groups_three_steps: None gradients skip, zero gradients decay, lr 0 accumulates")
    func twoGroups() throws {
        let c = try TestVectors.loadCase(Self.file, "two_groups_three_steps")
        let trajectory = try run(c)
        try check(c, trajectory, key: "after_step", exact: false)
        // w_e (lr 0) never moves; w_d (never a gradient) is untouched and has no buffer.
        let initial = try c.raw("inputs", "initial_params")
        for name in ["w_d", "w_e"] {
            let start = try VectorTensor(try #require(initial[name]), what: name).values
            for state in trajectory {
                expectVectorBitEqual(try #require(state[name]).0, start, c.label("\(name) unchanged"))
            }
        }
        #expect(trajectory.allSatisfy { $0["w_d"]?.1 == nil })
    }

    @Test("alpha fusion: float64 trajectory within tolerance, float32 trajectory bit-exact",
          arguments: ["alpha_fusion_lr_1e-8", "alpha_fusion_lr_1e-5"])
    func alphaFusion(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let trajectory = try run(c)
        try check(c, trajectory, key: "after_step", exact: false)
        try check(c, trajectory, key: "after_step_float32_arithmetic", exact: true)
    }
}
