import Foundation
import Testing

@testable import rnn

@Suite struct GradcheckCommandTests {
  @Test func checksEveryCellAndPrintsAPassingTable() throws {
    let cmd = try Gradcheck.parse(["--trials", "2", "--seed", "5"])
    let reports = cmd.reports()
    #expect(reports.count == 8)
    #expect(Set(reports.map(\.cell)) == ["rnn", "rnn_relu", "lstm", "gru"])
    #expect(reports.allSatisfy { $0.passed(tolerance: 1e-6) })
    let table = Gradcheck.table(reports, tolerance: 1e-6)
    #expect(table.hasPrefix("cell"))
    #expect(table.contains("lstm"))
    #expect(!table.contains("FAIL"))
  }

  @Test func aTinyToleranceFails() throws {
    let cmd = try Gradcheck.parse(["--cells", "gru", "--trials", "1", "--tolerance", "1e-30"])
    let reports = cmd.reports()
    #expect(Gradcheck.table(reports, tolerance: 1e-30).contains("FAIL"))
  }

  @Test func rejectsBadOptions() {
    #expect(throws: (any Error).self) { try Gradcheck.parse(["--cells", "transformer"]) }
    #expect(throws: (any Error).self) { try Gradcheck.parse(["--trials", "0"]) }
    #expect(throws: (any Error).self) { try Gradcheck.parse(["--threads", "0"]) }
  }

  @Test func formatsScientific() {
    #expect(formatScientific(1.234e-9) == "1.23e-09")
    #expect(formatScientific(9.999e-7) == "1.00e-06")
    #expect(formatScientific(0) == "0")
    #expect(formatScientific(-25) == "-2.50e+01")
  }
}
