/// Minimum-cost assignment for a rectangular cost matrix (the Hungarian method with potentials, O(n²m)); the same
/// matching SciPy's `linear_sum_assignment` returns in cost. Returns min(rows, columns) (row, column) pairs.
enum Hungarian {
    static func assign(_ cost: [[Double]]) -> [(row: Int, column: Int)] {
        let rows = cost.count
        guard rows > 0, let columns = cost.first?.count, columns > 0 else { return [] }
        if rows > columns {
            var transposed = [[Double]](repeating: [Double](repeating: 0, count: rows), count: columns)
            for r in 0..<rows { for c in 0..<columns { transposed[c][r] = cost[r][c] } }
            return assign(transposed).map { (row: $0.column, column: $0.row) }
        }
        // rows ≤ columns; 1-based arrays as in the textbook formulation.
        let n = rows
        let m = columns
        var u = [Double](repeating: 0, count: n + 1)
        var v = [Double](repeating: 0, count: m + 1)
        var p = [Int](repeating: 0, count: m + 1)
        var way = [Int](repeating: 0, count: m + 1)
        for i in 1...n {
            p[0] = i
            var j0 = 0
            var minv = [Double](repeating: .infinity, count: m + 1)
            var used = [Bool](repeating: false, count: m + 1)
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = Double.infinity
                var j1 = 0
                for j in 1...m where !used[j] {
                    let current = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if current < minv[j] {
                        minv[j] = current
                        way[j] = j0
                    }
                    if minv[j] < delta {
                        delta = minv[j]
                        j1 = j
                    }
                }
                if j1 == 0 { break }  // only with non-finite costs
                for j in 0...m {
                    if used[j] {
                        u[p[j]] += delta
                        v[j] -= delta
                    } else {
                        minv[j] -= delta
                    }
                }
                j0 = j1
            } while p[j0] != 0
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
        var pairs: [(row: Int, column: Int)] = []
        for j in 1...m where p[j] != 0 { pairs.append((p[j] - 1, j - 1)) }
        return pairs.sorted { $0.row < $1.row }
    }
}
